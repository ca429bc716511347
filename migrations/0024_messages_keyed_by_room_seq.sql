PRAGMA foreign_keys=OFF;--> statement-breakpoint
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
PRAGMA foreign_keys=ON;