-- values: person_year_hospital
SELECT
  d_kommune,
  d_aar,
  GROUPING(d_kommune) AS g_kommune,
  GROUPING(d_aar) AS g_aar,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser,
  COUNT(DISTINCT p_person) AS m_patienter,
  SUM(DISTINCT p_person) AS k_patienter
FROM (
  SELECT
    f.kommunekode AS d_kommune,
    f.year AS d_aar,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2023 AND 2024
    AND f.sector IN ('somatik')
) AS t
GROUP BY
  GROUPING SETS (
    (d_kommune, d_aar),
    (d_kommune),
    (d_aar),
    ()
  );
