-- values: person_year_hospital
SELECT
  d_kommune,
  g_kommune,
  COUNT(a_0) AS m_patienter__aar,
  SUM(a_0) AS k_patienter__aar
FROM (
  SELECT
    d_kommune,
    GROUPING(d_kommune) AS g_kommune,
    MAX(p_person) AS a_0
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
      (d_kommune, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_kommune,
  g_kommune;

-- citizens: residents_year
SELECT
  d_kommune,
  g_kommune,
  COUNT(a_0) AS m_borgere_i_risiko
FROM (
  SELECT
    d_kommune,
    GROUPING(d_kommune) AS g_kommune,
    MAX(p_person) AS a_0
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
      (d_kommune, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_kommune,
  g_kommune;
