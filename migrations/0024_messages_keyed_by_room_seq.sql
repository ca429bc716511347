-- Edited after drizzle-kit: D1 runs each migration in one transaction, where foreign_keys=OFF cannot apply;
-- defer_foreign_keys is its documented way (https://developers.cloudflare.com/d1/sql-api/foreign-keys/).
PRAGMA defer_foreign_keys=ON;--> statement-breakpoint
CREATE TABLE `__new_messages` (
	`id` text NOT NULL,
	`room_id` text NOT NULL,
	`seq` integer NOT NULL,
	`user_id` text NOT NULL,
	`text` text NOT NULL,
	`created_at` integer NOT NULL,
	`reply_to` integer,
	`edited_at` integer,
	`deleted_at` integer,
	`change_seq` integer,
	`attachments` text,
	PRIMARY KEY(`room_id`, `seq`)
);
--> statement-breakpoint
INSERT INTO `__new_messages`("id", "room_id", "seq", "user_id", "text", "created_at", "reply_to", "edited_at", "deleted_at", "change_seq", "attachments") SELECT "id", "room_id", "seq", "user_id", "text", "created_at", "reply_to", "edited_at", "deleted_at", "change_seq", "attachments" FROM `messages`;--> statement-breakpoint
DROP TABLE `messages`;--> statement-breakpoint
ALTER TABLE `__new_messages` RENAME TO `messages`;--> statement-breakpoint
PRAGMA defer_foreign_keys=OFF;