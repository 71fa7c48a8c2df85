-- values: person_year_hospital
SELECT
  d_region,
  d_aar,
  g_region,
  g_aar,
  SUM(a_0) AS m_indlaeggelser,
  COUNT(a_1) AS n_indlaeggelser,
  SUM(a_1) AS kn_indlaeggelser,
  SUM(a_2) AS k_indlaeggelser
FROM (
  SELECT
    d_region,
    d_aar,
    GROUPING(d_region) AS g_region,
    GROUPING(d_aar) AS g_aar,
    SUM(c_admissions) AS a_0,
    MAX(CASE WHEN c_e_admissions > 0 THEN p_person END) AS a_1,
    SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS a_2
  FROM (
    SELECT
      l_region.region_code AS d_region,
      f.year AS d_aar,
      f.person_id AS p_person,
      f.admissions AS c_admissions,
      f.k_admissions AS c_k_admissions,
      f.e_admissions AS c_e_admissions
    FROM person_year_hospital AS f
    LEFT JOIN dim_region_membership AS l_region
      ON l_region.kommunekode = f.kommunekode
      AND f.year BETWEEN l_region.first_year AND l_region.last_year
    WHERE
      f.kommunekode IN (101, 147, 151)
      AND f.year BETWEEN 2026 AND 2027
      AND f.sector IN ('somatik')
      AND l_region.region_code IN (1084, 1086)
      AND f.e_admissions > 0
  ) AS t
  GROUP BY
    GROUPING SETS (
      (d_region, d_aar, p_person),
      (d_region, p_person),
      (d_aar, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_region,
  d_aar,
  g_region,
  g_aar;
