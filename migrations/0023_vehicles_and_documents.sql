CREATE TABLE `driver_documents` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`vehicle_id` text,
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`filename` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer,
	`status` text NOT NULL,
	`review_reason` text,
	`reviewed_by` text,
	`reviewed_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`vehicle_id`) REFERENCES `vehicles`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `driver_documents_key_unique` ON `driver_documents` (`key`);--> statement-breakpoint
CREATE INDEX `driver_documents_driver_idx` ON `driver_documents` (`driver_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `driver_documents_vehicle_idx` ON `driver_documents` (`vehicle_id`,`kind`);--> statement-breakpoint
CREATE TABLE `vehicles` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`make` text NOT NULL,
	`model` text NOT NULL,
	`colour` text NOT NULL,
	`plate` text NOT NULL,
	`plate_key` text NOT NULL,
	`seats` integer NOT NULL,
	`tier` text NOT NULL,
	`status` text NOT NULL,
	`review_reason` text,
	`reviewed_by` text,
	`reviewed_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `vehicles_driver_idx` ON `vehicles` (`driver_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `vehicles_live_plate_idx` ON `vehicles` (`plate_key`) WHERE "vehicles"."status" != 'rejected';