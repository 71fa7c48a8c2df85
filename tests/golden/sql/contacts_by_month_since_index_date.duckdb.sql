-- values: contacts
SELECT
  d_kohortemaaned,
  d_kohortegruppe,
  GROUPING(d_kohortemaaned) AS g_kohortemaaned,
  GROUPING(d_kohortegruppe) AS g_kohortegruppe,
  COUNT(*) AS m_kontakter,
  COUNT(DISTINCT p_person) AS n_kontakter,
  SUM(DISTINCT p_person) AS kn_kontakter,
  SUM(c_rk) AS k_kontakter
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
    (d_kohortemaaned, d_kohortegruppe),
    (d_kohortemaaned),
    (d_kohortegruppe),
    ()
  );
