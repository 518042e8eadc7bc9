"""What is kept only for a while goes for every user, not only for those who write again."""
