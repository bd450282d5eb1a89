"""The console's screens: the live dashboard, the date browser and the help screen."""
