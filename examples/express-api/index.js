const express = require('express');

const app = express();

app.get('/health', (request, response) => {
  response.json({ status: 'ok' });
});

app.listen(process.env.PORT || 3000);
