-- Custom migration (drizzle-kit generate --custom): what drizzle's schema cannot say.
-- Journal entries and lines are immutable: a correction is a reversing entry, never an edit.
CREATE TRIGGER `journal_entries_no_update` BEFORE UPDATE ON `journal_entries`
BEGIN
	SELECT RAISE(ABORT, 'journal entries are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `journal_entries_no_delete` BEFORE DELETE ON `journal_entries`
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
BEGIN
	SELECT RAISE(ABORT, 'journal lines are immutable');
END;
--> statement-breakpoint
-- Defence in depth behind the conditional inserts of src/db/ledger.ts: a line that would take
-- a wallet (a rider's available balance) below zero aborts its whole batch.
CREATE TRIGGER `wallet_never_negative` AFTER INSERT ON `journal_lines`
WHEN NEW.`amount` < 0 AND NEW.`account_id` LIKE 'wallet:%'
	AND (SELECT SUM(`amount`) FROM `journal_lines` WHERE `account_id` = NEW.`account_id` AND `currency` = NEW.`currency`) < 0
BEGIN
	SELECT RAISE(ABORT, 'wallet overdrawn');
END;
