DROP TABLE handled_updates;
