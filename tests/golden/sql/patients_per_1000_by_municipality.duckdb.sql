-- values: person_year_hospital
SELECT
  d_kommune,
  GROUPING(d_kommune) AS g_kommune,
  COUNT(DISTINCT p_person) AS m_patienter__aar,
  SUM(DISTINCT p_person) AS k_patienter__aar
FROM (
  SELECT
    f.kommunekode AS d_kommune,
    f.person_id AS p_person
  FROM person_year_hospital AS f
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND f.sector IN ('somatik')
) AS t
GROUP BY
  GROUPING SETS (
    (d_kommune),
    ()
  );

-- citizens: residents_year
SELECT
  d_kommune,
  GROUPING(d_kommune) AS g_kommune,
  COUNT(DISTINCT p_person) AS m_borgere_i_risiko
FROM (
  SELECT
    f.kommunekode AS d_kommune,
    f.person_id AS p_person
  FROM residents_year AS f
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_kommune),
    ()
  );
