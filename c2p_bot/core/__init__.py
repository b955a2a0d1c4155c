"""Transport-neutral domain of c2p-bot. Never imports a chat SDK."""
