-- values: person_year_hospital
SELECT
  d_region,
  GROUPING(d_region) AS g_region,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
FROM (
  SELECT
    l_region.region_code AS d_region,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  LEFT JOIN dim_region_membership AS l_region
    ON l_region.kommunekode = f.kommunekode
    AND 2024 BETWEEN l_region.first_year AND l_region.last_year
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND f.sector IN ('somatik')
    AND f.e_admissions > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_region),
    ()
  );

-- citizens: population_month
SELECT
  d_region,
  GROUPING(d_region) AS g_region,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    l_region.region_code AS d_region,
    f.persons AS c_persons
  FROM population_month AS f
  LEFT JOIN dim_region_membership AS l_region
    ON l_region.kommunekode = f.kommunekode
    AND 2024 BETWEEN l_region.first_year AND l_region.last_year
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_region),
    ()
  );

-- strata: person_year_hospital
SELECT
  d_region,
  s_koen,
  s_aldersgruppe_5,
  GROUPING(d_region) AS g_region,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
FROM (
  SELECT
    l_region.region_code AS d_region,
    f.sex AS s_koen,
    l_aldersgruppe_5.band_fem_aar AS s_aldersgruppe_5,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  LEFT JOIN dim_region_membership AS l_region
    ON l_region.kommunekode = f.kommunekode
    AND 2024 BETWEEN l_region.first_year AND l_region.last_year
  LEFT JOIN dim_age AS l_aldersgruppe_5
    ON l_aldersgruppe_5.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND f.sector IN ('somatik')
    AND f.e_admissions > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_region, s_koen, s_aldersgruppe_5),
    (s_koen, s_aldersgruppe_5)
  );

-- citizen_strata: population_month
SELECT
  d_region,
  s_koen,
  s_aldersgruppe_5,
  GROUPING(d_region) AS g_region,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    l_region.region_code AS d_region,
    f.sex AS s_koen,
    l_aldersgruppe_5.band_fem_aar AS s_aldersgruppe_5,
    f.persons AS c_persons
  FROM population_month AS f
  LEFT JOIN dim_region_membership AS l_region
    ON l_region.kommunekode = f.kommunekode
    AND 2024 BETWEEN l_region.first_year AND l_region.last_year
  LEFT JOIN dim_age AS l_aldersgruppe_5
    ON l_aldersgruppe_5.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_region, s_koen, s_aldersgruppe_5),
    (s_koen, s_aldersgruppe_5)
  );
