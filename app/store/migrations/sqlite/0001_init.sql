-- Walkers, dogs and walks, as in the Django original (walks cascade with
-- their dog or walker).
CREATE TABLE walkers (
    id    integer PRIMARY KEY AUTOINCREMENT,
    name  varchar(127) NOT NULL,
    email varchar(127) NOT NULL
);

CREATE TABLE dogs (
    id   integer PRIMARY KEY AUTOINCREMENT,
    name varchar(127) NOT NULL,
    age  integer NOT NULL CHECK (age >= 0),
    size varchar(2) NOT NULL DEFAULT 'md' CHECK (size IN ('xs', 'sm', 'md', 'lg', 'xl'))
);

CREATE TABLE walks (
    id         integer PRIMARY KEY AUTOINCREMENT,
    dog_id     integer NOT NULL REFERENCES dogs (id) ON DELETE CASCADE,
    walker_id  integer NOT NULL REFERENCES walkers (id) ON DELETE CASCADE,
    distance   integer NOT NULL DEFAULT 0 CHECK (distance >= 0),
    start_time datetime,
    end_time   datetime
);

CREATE INDEX walks_dog_id ON walks (dog_id);
CREATE INDEX walks_walker_id ON walks (walker_id);
-- Walks in progress are few; the gauge and the list read only this index.
CREATE INDEX walks_in_progress ON walks (start_time) WHERE end_time IS NULL;
