-- Custom SQL migration file, put your code below! --
-- Substring search over the six searchable columns without scanning every row: an FTS5
-- trigram index (case-insensitive) kept in sync with `parts` by triggers.
CREATE VIRTUAL TABLE `parts_search` USING fts5(
  name, part_id, notes, subsystem, assigned, material,
  content='parts', content_rowid='id', tokenize='trigram case_sensitive 0'
);
--> statement-breakpoint
CREATE TRIGGER `parts_search_insert` AFTER INSERT ON `parts` BEGIN
  INSERT INTO parts_search (rowid, name, part_id, notes, subsystem, assigned, material)
  VALUES (new.id, new.name, new.part_id, new.notes, new.subsystem, new.assigned, new.material);
END;
--> statement-breakpoint
CREATE TRIGGER `parts_search_delete` AFTER DELETE ON `parts` BEGIN
  INSERT INTO parts_search (parts_search, rowid, name, part_id, notes, subsystem, assigned, material)
  VALUES ('delete', old.id, old.name, old.part_id, old.notes, old.subsystem, old.assigned, old.material);
END;
--> statement-breakpoint
CREATE TRIGGER `parts_search_update` AFTER UPDATE OF name, part_id, notes, subsystem, assigned, material ON `parts` BEGIN
  INSERT INTO parts_search (parts_search, rowid, name, part_id, notes, subsystem, assigned, material)
  VALUES ('delete', old.id, old.name, old.part_id, old.notes, old.subsystem, old.assigned, old.material);
  INSERT INTO parts_search (rowid, name, part_id, notes, subsystem, assigned, material)
  VALUES (new.id, new.name, new.part_id, new.notes, new.subsystem, new.assigned, new.material);
END;
--> statement-breakpoint
INSERT INTO parts_search (parts_search) VALUES ('rebuild');
