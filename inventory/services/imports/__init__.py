"""CSV import and export of products and of stock levels.

An import is an ``ImportJob``. When it is created the file is decoded and its header
checked, so a wrong file is refused at once and no job exists. A worker then runs it in
two phases: phase 1 checks **every** row and collects every error; phase 2 runs only when
there is none, in one transaction, so a file is imported completely or not at all.

The job row cannot show progress while phase 2's transaction is open (nobody else sees
it before the commit), so the runner publishes its figures through the cache, under
``import-progress:<job id>``; ``import_progress`` merges them with the row for the admin.

A job is being run exactly when its row is locked: the runner holds the row lock
(``SELECT … FOR UPDATE SKIP LOCKED``) from its first check to its final write. A second
delivery of the task skips a locked row, and a job left ``running`` by a worker that died
(its lock went with its connection) is picked up again by the next delivery.

Exports write exactly the import format, so exporting then importing an unchanged
database changes nothing. The column reference is docs/csv.md.

The modules: ``sheets`` reads a file into rows and checks its header, ``cells`` parses
one cell, ``progress`` publishes and reads a running job's figures, ``jobs`` creates,
queues and runs a job (and records how it ended), ``importer`` is the base of the two
importers, ``products`` and ``stock_levels``; ``exports`` writes the same formats.
"""
