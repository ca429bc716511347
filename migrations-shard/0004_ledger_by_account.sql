CREATE TABLE `active_trips` (
	`rider_id` text PRIMARY KEY NOT NULL,
	`trip_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `journal_entries` (
	`id` text PRIMARY KEY NOT NULL,
	`idempotency_key` text NOT NULL,
	`owner_id` text NOT NULL,
	`kind` text NOT NULL,
	`trip_id` text,
	`data` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `journal_entries_idempotency_key_unique` ON `journal_entries` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `journal_entries_trip_idx` ON `journal_entries` (`trip_id`);--> statement-breakpoint
CREATE INDEX `journal_entries_owner_idx` ON `journal_entries` (`owner_id`);--> statement-breakpoint
CREATE TABLE `journal_lines` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`entry_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`account_id` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `journal_lines_account_idx` ON `journal_lines` (`account_id`,`currency`,`created_at`);--> statement-breakpoint
CREATE INDEX `journal_lines_entry_idx` ON `journal_lines` (`entry_id`);--> statement-breakpoint
CREATE TABLE `ledger_transfers` (
	`leg_key` text PRIMARY KEY NOT NULL,
	`entry_key` text NOT NULL,
	`from_owner_id` text NOT NULL,
	`to_owner_id` text NOT NULL,
	`leg` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`done_at` integer
);
--> statement-breakpoint
CREATE INDEX `ledger_transfers_pending_idx` ON `ledger_transfers` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `ledger_transfers_from_idx` ON `ledger_transfers` (`from_owner_id`);--> statement-breakpoint
CREATE TABLE `payouts` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`trigger` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`provider` text NOT NULL,
	`destination` text NOT NULL,
	`status` text NOT NULL,
	`provider_ref` text,
	`failure` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_driver_key_idx` ON `payouts` (`driver_id`,`idempotency_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_one_pending_idx` ON `payouts` (`driver_id`) WHERE "payouts"."status" = 'pending';--> statement-breakpoint
CREATE INDEX `payouts_driver_created_idx` ON `payouts` (`driver_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `payouts_status_updated_idx` ON `payouts` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `payouts_created_idx` ON `payouts` (`created_at`);--> statement-breakpoint
CREATE TABLE `trip_requests` (
	`rider_id` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`trip_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`rider_id`, `idempotency_key`)
);
