CREATE TABLE `message_reactions` (
	`room_id` text NOT NULL,
	`seq` integer NOT NULL,
	`emoji` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`room_id`, `seq`, `emoji`, `user_id`)
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`seq` integer NOT NULL,
	`user_id` text NOT NULL,
	`text` text NOT NULL,
	`created_at` integer NOT NULL,
	`reply_to` integer,
	`edited_at` integer,
	`deleted_at` integer,
	`change_seq` integer,
	`attachments` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_room_seq_idx` ON `messages` (`room_id`,`seq`);--> statement-breakpoint
CREATE TABLE `notification_channels` (
	`notification_id` text NOT NULL,
	`channel` text NOT NULL,
	`user_id` text NOT NULL,
	`outcome` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`reserved_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`notification_id`, `channel`)
);
--> statement-breakpoint
CREATE INDEX `notification_channels_user_reserved_idx` ON `notification_channels` (`user_id`,`channel`,`reserved_at`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`delivered_to` text NOT NULL,
	`lease_until` integer,
	`acked_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notifications_user_created_idx` ON `notifications` (`user_id`,`created_at`);