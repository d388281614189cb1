// Builds the console into dist/ with fixed file names: the aerie binary embeds dist/ as it is
// (crates/server/src/web/console.rs), so names must not change from build to build: the page,
// console.js, console.css, and console-parquet.js (loaded when a dataframe is previewed).
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

export default defineConfig({
  plugins: [preact()],
  base: "/console/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "",
    modulePreload: false,
    rollupOptions: {
      output: {
        entryFileNames: "console.js",
        chunkFileNames: "console-[name].js",
        // The one lazily loaded part: the Parquet reader of dataframe previews.
        manualChunks: (id: string) => (id.includes("/hyparquet/") ? "parquet" : undefined),
        assetFileNames: "console[extname]",
      },
    },
  },
});
