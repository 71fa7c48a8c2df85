-- values: home_care
SELECT
  d_plejedistrikt,
  GROUPING(d_plejedistrikt) AS g_plejedistrikt,
  SUM(c_hours_delivered) AS m_hjemmepleje_timer,
  COUNT(DISTINCT CASE WHEN c_hours_delivered <> 0 THEN p_person END) AS n_hjemmepleje_timer,
  SUM(DISTINCT CASE WHEN c_hours_delivered <> 0 THEN p_person END) AS kn_hjemmepleje_timer,
  SUM(CASE WHEN c_hours_delivered <> 0 THEN c_rk END) AS k_hjemmepleje_timer,
  MAX(CASE WHEN c_hours_delivered <> 0 THEN ABS(c_hours_delivered) END) AS x_hjemmepleje_timer,
  COUNT(DISTINCT p_person) AS m_hjemmepleje_modtagere,
  SUM(DISTINCT p_person) AS k_hjemmepleje_modtagere
FROM (
  SELECT
    f.care_district AS d_plejedistrikt,
    f.person_id AS p_person,
    f.hours_delivered AS c_hours_delivered,
    f.rk AS c_rk
  FROM home_care AS f
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_plejedistrikt),
    ()
  );
