"""Excel in the core: the one streaming, formula-safe writer every workbook is written with
(``opskit.xlsx.writer``; its fast row path in ``opskit.xlsx.rows``)."""
