-- values: person_year_hospital
SELECT
  d_kohortegruppe,
  g_kohortegruppe,
  SUM(a_0) AS m_kontakter,
  COUNT(a_1) AS n_kontakter,
  SUM(a_1) AS kn_kontakter,
  SUM(a_2) AS k_kontakter
FROM (
  SELECT
    d_kohortegruppe,
    GROUPING(d_kohortegruppe) AS g_kohortegruppe,
    SUM(c_contacts) AS a_0,
    MAX(CASE WHEN c_e_contacts > 0 THEN p_person END) AS a_1,
    SUM(CASE WHEN c_e_contacts > 0 THEN c_k_contacts END) AS a_2
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
      (d_kohortegruppe, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_kohortegruppe,
  g_kohortegruppe;

-- citizens: residents_year
SELECT
  d_kohortegruppe,
  g_kohortegruppe,
  COUNT(a_0) AS m_borgertid,
  SUM(a_0) AS k_borgertid
FROM (
  SELECT
    d_kohortegruppe,
    GROUPING(d_kohortegruppe) AS g_kohortegruppe,
    MAX(p_person) AS a_0
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
      (d_kohortegruppe, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_kohortegruppe,
  g_kohortegruppe;
