-- values: person_year_practice_total
SELECT
  d_aldersgruppe_bred,
  GROUPING(d_aldersgruppe_bred) AS g_aldersgruppe_bred,
  SUM(c_gp_contacts) AS m_laegekontakter,
  COUNT(DISTINCT CASE WHEN c_e_gp_contacts > 0 THEN p_person END) AS n_laegekontakter,
  SUM(DISTINCT CASE WHEN c_e_gp_contacts > 0 THEN p_person END) AS kn_laegekontakter,
  SUM(CASE WHEN c_e_gp_contacts > 0 THEN c_k_gp_contacts END) AS k_laegekontakter
FROM (
  SELECT
    l_aldersgruppe_bred.band_bred AS d_aldersgruppe_bred,
    f.person_id AS p_person,
    f.gp_contacts AS c_gp_contacts,
    f.k_gp_contacts AS c_k_gp_contacts,
    f.e_gp_contacts AS c_e_gp_contacts
  FROM person_year_practice_total AS f
  LEFT JOIN dim_age AS l_aldersgruppe_bred
    ON l_aldersgruppe_bred.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND f.e_gp_contacts > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe_bred),
    ()
  );

-- citizens: population_month
SELECT
  d_aldersgruppe_bred,
  GROUPING(d_aldersgruppe_bred) AS g_aldersgruppe_bred,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    l_aldersgruppe_bred.band_bred AS d_aldersgruppe_bred,
    f.persons AS c_persons
  FROM population_month AS f
  LEFT JOIN dim_age AS l_aldersgruppe_bred
    ON l_aldersgruppe_bred.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe_bred),
    ()
  );
