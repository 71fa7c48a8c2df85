-- values: person_year_hospital
SELECT
  d_kohortegruppe,
  GROUPING(d_kohortegruppe) AS g_kohortegruppe,
  SUM(c_contacts) AS m_kontakter,
  COUNT(DISTINCT CASE WHEN c_e_contacts > 0 THEN p_person END) AS n_kontakter,
  SUM(DISTINCT CASE WHEN c_e_contacts > 0 THEN p_person END) AS kn_kontakter,
  SUM(CASE WHEN c_e_contacts > 0 THEN c_k_contacts END) AS k_kontakter
FROM (
  SELECT
    c.gruppe AS d_kohortegruppe,
    f.person_id AS p_person,
    f.contacts AS c_contacts,
    f.k_contacts AS c_k_contacts,
    f.e_contacts AS c_e_contacts
  FROM person_year_hospital AS f
  INNER JOIN population AS c
    ON c.person_id = f.person_id
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND f.sector IN ('somatik')
    AND f.sex IN (2)
    AND f.e_contacts > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_kohortegruppe),
    ()
  );

-- citizens: residents_year
SELECT
  d_kohortegruppe,
  GROUPING(d_kohortegruppe) AS g_kohortegruppe,
  COUNT(DISTINCT p_person) AS m_borgertid,
  SUM(DISTINCT p_person) AS k_borgertid
FROM (
  SELECT
    c.gruppe AS d_kohortegruppe,
    f.person_id AS p_person
  FROM residents_year AS f
  INNER JOIN population AS c
    ON c.person_id = f.person_id
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024 AND f.sex IN (2)
) AS t
GROUP BY
  GROUPING SETS (
    (d_kohortegruppe),
    ()
  );
