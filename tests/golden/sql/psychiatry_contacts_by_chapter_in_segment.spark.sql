-- values: contacts
SELECT
  d_diagnosekapitel,
  GROUPING(d_diagnosekapitel) AS g_diagnosekapitel,
  COUNT(*) AS m_kontakter,
  COUNT(DISTINCT p_person) AS n_kontakter,
  SUM(DISTINCT p_person) AS kn_kontakter,
  SUM(c_rk) AS k_kontakter
FROM (
  SELECT
    l_diagnosekapitel.chapter_no AS d_diagnosekapitel,
    f.person_id AS p_person,
    f.rk AS c_rk
  FROM contacts AS f
  LEFT JOIN dim_diagnosis AS l_diagnosekapitel
    ON l_diagnosekapitel.category = f.diag_category
  LEFT JOIN dim_region_membership AS l_region
    ON l_region.kommunekode = f.kommunekode
    AND 2024 BETWEEN l_region.first_year AND l_region.last_year
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND f.sector IN ('psykiatri')
    AND l_region.region_code IN (1084)
    AND EXISTS(
      SELECT
        1
      FROM person_year AS s
      WHERE
        s.person_id = f.person_id AND s.year = f.year AND s.weeks_sygedagpenge > 0
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_diagnosekapitel),
    ()
  );
