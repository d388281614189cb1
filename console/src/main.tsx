// The aerie console: a single page served by `aerie serve` at `/` and at the URLs the SDK
// prints. It reads and changes everything through the same Connect RPCs as the SDK.

import { render } from "preact";
import { App } from "./App";
import "./console.css";

render(<App />, document.getElementById("app")!);
