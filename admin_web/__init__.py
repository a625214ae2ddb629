"""The admin site (server-rendered pages for staff) and, from helper F2, the JSON API."""
