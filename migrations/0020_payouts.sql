CREATE TABLE `payout_accounts` (
	`driver_id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payout_accounts_account_id_unique` ON `payout_accounts` (`account_id`);--> statement-breakpoint
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
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_driver_key_idx` ON `payouts` (`driver_id`,`idempotency_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `payouts_one_pending_idx` ON `payouts` (`driver_id`) WHERE "payouts"."status" = 'pending';--> statement-breakpoint
CREATE INDEX `payouts_driver_created_idx` ON `payouts` (`driver_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `payouts_status_updated_idx` ON `payouts` (`status`,`updated_at`);