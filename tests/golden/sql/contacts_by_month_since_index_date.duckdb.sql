-- values: contacts
SELECT
  d_kohortemaaned,
  d_kohortegruppe,
  g_kohortemaaned,
  g_kohortegruppe,
  SUM(a_0) AS m_kontakter,
  COUNT(a_1) AS n_kontakter,
  SUM(a_1) AS kn_kontakter,
  SUM(a_2) AS k_kontakter
FROM (
  SELECT
    d_kohortemaaned,
    d_kohortegruppe,
    GROUPING(d_kohortemaaned) AS g_kohortemaaned,
    GROUPING(d_kohortegruppe) AS g_kohortegruppe,
    COUNT(*) AS a_0,
    MAX(p_person) AS a_1,
    SUM(c_rk) AS a_2
  FROM (
    SELECT
      (
        CAST(f.year AS INT) * 12 + f.month
      ) - c.index_month AS d_kohortemaaned,
      c.gruppe AS d_kohortegruppe,
      f.person_id AS p_person,
      f.rk AS c_rk
    FROM contacts AS f
    INNER JOIN population AS c
      ON c.person_id = f.person_id
    WHERE
      f.kommunekode IN (101, 147, 151)
      AND f.year BETWEEN 2023 AND 2024
      AND f.sector IN ('psykiatri')
      AND (
        CAST(f.year AS INT) * 12 + f.month
      ) - c.index_month IN (-1, 0, 1)
  ) AS t
  GROUP BY
    GROUPING SETS (
      (d_kohortemaaned, d_kohortegruppe, p_person),
      (d_kohortemaaned, p_person),
      (d_kohortegruppe, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_kohortemaaned,
  d_kohortegruppe,
  g_kohortemaaned,
  g_kohortegruppe;
