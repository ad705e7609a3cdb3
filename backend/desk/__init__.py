"""The official's desk: today's agenda, the live waiting room, admitting and ending calls."""
