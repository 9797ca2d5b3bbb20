CREATE INDEX `parts_sort_name_idx` ON `parts` ("name" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `parts_sort_part_id_idx` ON `parts` ("part_id" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `parts_sort_subsystem_idx` ON `parts` ("subsystem" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `parts_sort_material_idx` ON `parts` ("material" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `parts_sort_assigned_idx` ON `parts` ("assigned" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `parts_sort_amount_idx` ON `parts` (`amount`,`id`);--> statement-breakpoint
CREATE INDEX `parts_sort_claimed_idx` ON `parts` (`claimed_date`,`id`);