// GraphiQL on Placeledger's API, from the vendored bundle: the token the person signed in
// with in the web app (this tab's session) is sent with every request, so the docs and
// autocomplete (introspection, which needs a token) work.
(function () {
  const token = sessionStorage.getItem("placeledger.token");
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  document.getElementById("signed").textContent = token
    ? "signed in"
    : "not signed in: sign in on the web app first, or add an Authorization header below";
  const url = `${location.origin}/graphql`;
  const fetcher = GraphiQL.createFetcher({
    url,
    subscriptionUrl: url.replace(/^http/, "ws") + "/ws",
    headers,
  });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultHeaders: token ? JSON.stringify(headers, null, 2) : undefined,
  }));
})();
