"""Read → validate → conform → derive → publish: register extracts become a warehouse release."""
