"""Server-rendered pages (Jinja2), project-written CSS/JS and SVG charts."""
