"""tap-algolia: a Singer tap for Algolia Advanced Personalization user profiles."""
