-- values: person_year_hospital
SELECT
  d_kommune,
  d_aar,
  g_kommune,
  g_aar,
  SUM(a_0) AS m_indlaeggelser,
  COUNT(a_1) AS n_indlaeggelser,
  SUM(a_1) AS kn_indlaeggelser,
  SUM(a_2) AS k_indlaeggelser,
  COUNT(a_3) AS m_patienter,
  SUM(a_3) AS k_patienter
FROM (
  SELECT
    d_kommune,
    d_aar,
    GROUPING(d_kommune) AS g_kommune,
    GROUPING(d_aar) AS g_aar,
    SUM(c_admissions) AS a_0,
    MAX(CASE WHEN c_e_admissions > 0 THEN p_person END) AS a_1,
    SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS a_2,
    MAX(p_person) AS a_3
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
      (d_kommune, d_aar, p_person),
      (d_kommune, p_person),
      (d_aar, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_kommune,
  d_aar,
  g_kommune,
  g_aar;
