// Placeholder: the demo quiz page is being written (see docs/client-sdk.md).
document.body.setAttribute('data-app', 'loading');
