# One image for the API and the workers; the command picks the role.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# The image is for deployments: run unconfigured, it refuses the development secrets instead of using them.
ENV TREASURER_ENVIRONMENT=production
WORKDIR /app
# Scans are read by OCR: tesseract and the languages of the invoices (English, German, French, Dutch, Polish).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu \
       tesseract-ocr-fra tesseract-ocr-nld tesseract-ocr-pol \
    && rm -rf /var/lib/apt/lists/*
RUN python -m pip install --no-cache-dir --upgrade "pip>=25"
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY agents agents
COPY tools tools
COPY policies policies
COPY api api
COPY finance finance
COPY notifications notifications
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 treasurer
USER treasurer
EXPOSE 8000
CMD ["treasurer", "serve", "--host", "0.0.0.0", "--port", "8000"]
