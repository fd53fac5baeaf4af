// The console: refresh the rooms' numbers in place (the page works without this).
