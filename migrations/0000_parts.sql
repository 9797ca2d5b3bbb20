CREATE TABLE `parts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`part_id` text NOT NULL,
	`name` text,
	`type` text,
	`material` text NOT NULL,
	`subsystem` text NOT NULL,
	`amount` integer DEFAULT 1 NOT NULL,
	`assigned` text,
	`status` text DEFAULT 'Pending' NOT NULL,
	`category` text DEFAULT 'review' NOT NULL,
	`notes` text,
	`file` text,
	`onshape_url` text,
	`claimed_date` integer,
	`misc_info` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `parts_category_created_idx` ON `parts` (`category`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `parts_created_idx` ON `parts` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `parts_updated_idx` ON `parts` (`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `parts_part_id_idx` ON `parts` (`part_id`);--> statement-breakpoint
CREATE INDEX `parts_status_idx` ON `parts` (`status`);--> statement-breakpoint
CREATE INDEX `parts_assigned_idx` ON `parts` (`assigned`);