"""The citizen's way in: the email link, the start button, the waiting room and the device check."""
