-- Custom SQL migration file, put your code below! --
-- Rooms created before roles: their creator is the owner.
UPDATE `room_members` SET `role` = 'owner'
WHERE EXISTS (SELECT 1 FROM `rooms` WHERE `rooms`.`id` = `room_members`.`room_id` AND `rooms`.`created_by` = `room_members`.`user_id`);
