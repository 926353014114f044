"""What people look at: figures, previews, report pages and job runtimes."""
