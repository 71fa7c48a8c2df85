-- values: person_year_hospital
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
FROM (
  SELECT
    f.year AS d_aar,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  WHERE
    f.kommunekode IN (101)
    AND f.year BETWEEN 2026 AND 2027
    AND f.sector IN ('somatik')
    AND f.e_admissions > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- citizens: population_month
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    f.year AS d_aar,
    f.persons AS c_persons
  FROM population_month AS f
  WHERE
    f.kommunekode IN (101) AND f.year BETWEEN 2026 AND 2027
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- values: person_year_hospital
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
FROM (
  SELECT
    f.year AS d_aar,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2026 AND 2027
    AND (
      (
        f.year BETWEEN 2026 AND 2026
        AND f.kommunekode IN (
          101,
          147,
          151,
          153,
          155,
          157,
          159,
          161,
          163,
          165,
          167,
          169,
          173,
          175,
          183,
          185,
          187,
          190,
          201,
          210,
          217,
          219,
          223,
          230,
          240,
          250,
          260,
          270,
          400
        )
      )
      OR (
        f.year BETWEEN 2027 AND 2027
        AND f.kommunekode IN (
          101,
          147,
          151,
          153,
          155,
          157,
          159,
          161,
          163,
          165,
          167,
          169,
          173,
          175,
          183,
          185,
          187,
          190,
          201,
          210,
          217,
          219,
          223,
          230,
          240,
          250,
          253,
          259,
          260,
          265,
          269,
          270,
          306,
          316,
          320,
          326,
          329,
          330,
          336,
          340,
          350,
          360,
          370,
          376,
          390,
          400
        )
      )
    )
    AND f.sector IN ('somatik')
    AND f.e_admissions > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- citizens: population_month
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    f.year AS d_aar,
    f.persons AS c_persons
  FROM population_month AS f
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2026 AND 2027
    AND (
      (
        f.year BETWEEN 2026 AND 2026
        AND f.kommunekode IN (
          101,
          147,
          151,
          153,
          155,
          157,
          159,
          161,
          163,
          165,
          167,
          169,
          173,
          175,
          183,
          185,
          187,
          190,
          201,
          210,
          217,
          219,
          223,
          230,
          240,
          250,
          260,
          270,
          400
        )
      )
      OR (
        f.year BETWEEN 2027 AND 2027
        AND f.kommunekode IN (
          101,
          147,
          151,
          153,
          155,
          157,
          159,
          161,
          163,
          165,
          167,
          169,
          173,
          175,
          183,
          185,
          187,
          190,
          201,
          210,
          217,
          219,
          223,
          230,
          240,
          250,
          253,
          259,
          260,
          265,
          269,
          270,
          306,
          316,
          320,
          326,
          329,
          330,
          336,
          340,
          350,
          360,
          370,
          376,
          390,
          400
        )
      )
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- values: person_year_hospital
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
FROM (
  SELECT
    f.year AS d_aar,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2026 AND 2027
    AND f.sector IN ('somatik')
    AND f.e_admissions > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- citizens: population_month
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    f.year AS d_aar,
    f.persons AS c_persons
  FROM population_month AS f
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2026 AND 2027
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- values: person_year_hospital
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_admissions) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_e_admissions > 0 THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_e_admissions > 0 THEN c_k_admissions END) AS k_indlaeggelser
FROM (
  SELECT
    f.year AS d_aar,
    f.person_id AS p_person,
    f.admissions AS c_admissions,
    f.k_admissions AS c_k_admissions,
    f.e_admissions AS c_e_admissions
  FROM person_year_hospital AS f
  WHERE
    f.kommunekode IN (147)
    AND f.year BETWEEN 2026 AND 2027
    AND f.sector IN ('somatik')
    AND f.e_admissions > 0
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );

-- citizens: population_month
SELECT
  d_aar,
  GROUPING(d_aar) AS g_aar,
  SUM(c_persons) AS m_borgertid
FROM (
  SELECT
    f.year AS d_aar,
    f.persons AS c_persons
  FROM population_month AS f
  WHERE
    f.kommunekode IN (147) AND f.year BETWEEN 2026 AND 2027
) AS t
GROUP BY
  GROUPING SETS (
    (d_aar),
    ()
  );
