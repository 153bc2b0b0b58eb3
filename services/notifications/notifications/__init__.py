"""PasarKota notifications: tells people what they wait for, by WhatsApp with SMS fallback."""
