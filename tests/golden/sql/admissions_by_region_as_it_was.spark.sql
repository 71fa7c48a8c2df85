-- values: person_year_hospital
SELECT
  d_region,
  d_aar,
  GROUPING(d_region) AS g_region,
  GROUPING(d_aar) AS g_aar,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
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
    (d_region, d_aar),
    (d_region),
    (d_aar),
    ()
  );
