-- Custom migration (drizzle-kit generate --custom): the one-time move of the ledger out of `DB`
-- into the shards (db/shard-move.ts) deletes each journal entry and its lines from here once its
-- legs are confirmed in their owners' shards. 0004's triggers refused every delete; they now let
-- one through only while a row exists in `ledger_move_lock`, which the move writes before its
-- deletes and removes after them, in the same batch, as migrations-shard/0005 does in the shards.
-- Updates stay refused, and so does any other delete: nothing else ever writes the lock.
CREATE TABLE `ledger_move_lock` (`id` integer PRIMARY KEY NOT NULL);
--> statement-breakpoint
DROP TRIGGER `journal_entries_no_delete`;
--> statement-breakpoint
CREATE TRIGGER `journal_entries_no_delete` BEFORE DELETE ON `journal_entries`
WHEN NOT EXISTS (SELECT 1 FROM `ledger_move_lock`)
BEGIN
	SELECT RAISE(ABORT, 'journal entries are immutable');
END;
--> statement-breakpoint
DROP TRIGGER `journal_lines_no_delete`;
--> statement-breakpoint
CREATE TRIGGER `journal_lines_no_delete` BEFORE DELETE ON `journal_lines`
WHEN NOT EXISTS (SELECT 1 FROM `ledger_move_lock`)
BEGIN
	SELECT RAISE(ABORT, 'journal lines are immutable');
END;
