-- Custom migration (drizzle-kit generate --custom): what drizzle's schema cannot say, as in `DB`'s 0004.
-- Journal entries and lines are immutable: a correction is a reversing entry, never an edit. A row
-- may be deleted only by a shard move that has copied it to its new shard: the move writes a row in
-- `ledger_move_lock` in the same transaction as its deletes and removes it there (db/shard-move.ts).
CREATE TABLE `ledger_move_lock` (`id` integer PRIMARY KEY NOT NULL);
--> statement-breakpoint
CREATE TRIGGER `journal_entries_no_update` BEFORE UPDATE ON `journal_entries`
BEGIN
	SELECT RAISE(ABORT, 'journal entries are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `journal_entries_no_delete` BEFORE DELETE ON `journal_entries`
WHEN NOT EXISTS (SELECT 1 FROM `ledger_move_lock`)
BEGIN
	SELECT RAISE(ABORT, 'journal entries are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `journal_lines_no_update` BEFORE UPDATE ON `journal_lines`
BEGIN
	SELECT RAISE(ABORT, 'journal lines are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `journal_lines_no_delete` BEFORE DELETE ON `journal_lines`
WHEN NOT EXISTS (SELECT 1 FROM `ledger_move_lock`)
BEGIN
	SELECT RAISE(ABORT, 'journal lines are immutable');
END;
--> statement-breakpoint
-- Defence in depth behind the guarded inserts of src/db/postings.ts: a line that would take a
-- wallet (a rider's available balance) below zero aborts its whole batch.
CREATE TRIGGER `wallet_never_negative` AFTER INSERT ON `journal_lines`
WHEN NEW.`amount` < 0 AND NEW.`account_id` LIKE 'wallet:%'
	AND (SELECT SUM(`amount`) FROM `journal_lines` WHERE `account_id` = NEW.`account_id` AND `currency` = NEW.`currency`) < 0
BEGIN
	SELECT RAISE(ABORT, 'wallet overdrawn');
END;
