"""The console's screens: the live dashboard, the date browser, the help screen and the loop picker."""
