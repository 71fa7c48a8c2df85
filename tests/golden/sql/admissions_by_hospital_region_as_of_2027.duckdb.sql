-- values: stays
SELECT
  d_sygehusregion,
  GROUPING(d_sygehusregion) AS g_sygehusregion,
  SUM(CASE WHEN c_admission THEN 1 ELSE 0 END) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_admission THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_admission THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_admission THEN c_rk END) AS k_indlaeggelser
FROM (
  SELECT
    l_sygehusregion.region_code AS d_sygehusregion,
    f.person_id AS p_person,
    f.admission AS c_admission,
    f.rk AS c_rk
  FROM stays AS f
  LEFT JOIN dim_hospital_region AS l_sygehusregion
    ON l_sygehusregion.hospital_id = f.hospital_id
    AND 2027 BETWEEN l_sygehusregion.first_year AND l_sygehusregion.last_year
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2025 AND 2026
    AND f.sector IN ('somatik')
    AND f.admission
) AS t
GROUP BY
  GROUPING SETS (
    (d_sygehusregion),
    ()
  );
