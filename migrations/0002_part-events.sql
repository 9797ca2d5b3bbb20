CREATE TABLE `part_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`part_id` integer NOT NULL,
	`part_number` text NOT NULL,
	`part_name` text,
	`action` text NOT NULL,
	`actor` text NOT NULL,
	`from_category` text,
	`to_category` text,
	`from_status` text,
	`to_status` text,
	`changes` text,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `part_events_part_idx` ON `part_events` (`part_id`,`id`);--> statement-breakpoint
CREATE INDEX `part_events_created_idx` ON `part_events` (`created_at`);--> statement-breakpoint
CREATE INDEX `part_events_actor_idx` ON `part_events` (`actor`,`id`);--> statement-breakpoint
CREATE INDEX `part_events_action_idx` ON `part_events` (`action`,`created_at`);--> statement-breakpoint
CREATE INDEX `part_events_number_idx` ON `part_events` (`part_number`,`id`);