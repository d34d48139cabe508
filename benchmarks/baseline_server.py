"""The baseline for serve_load.py: a digit server as tutorials write it.

    python benchmarks/baseline_server.py MODEL PORT

FastAPI, an uploaded file in the form field `image`, the picture turned grey and
resized to 28x28, inverted when its page is light, then `model.predict` on it. No
centring, no clean-up, and a Keras data pipeline built for every single image.
"""

import io
import sys

import keras
import numpy as np
import uvicorn
from fastapi import FastAPI, UploadFile
from PIL import Image

model = keras.saving.load_model(sys.argv[1])
app = FastAPI()


@app.post("/api/predict")
def predict(image: UploadFile) -> dict:
    grey = Image.open(io.BytesIO(image.file.read())).convert("L").resize((28, 28))
    pixels = np.asarray(grey, dtype="float32") / 255
    if pixels.mean() > 0.5:  # dark ink on light paper: MNIST is light on dark
        pixels = 1 - pixels
    probabilities = model.predict(pixels.reshape(1, 784), verbose=0)[0]
    return {"digit": int(probabilities.argmax()), "probability": float(probabilities.max())}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
